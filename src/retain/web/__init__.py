"""The server-rendered dashboard. CSS is served from the package: no CDN."""
