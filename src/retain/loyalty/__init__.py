"""The loyalty program file, read and checked."""
