"""Plain data and pure rules. Standard library only."""
