"""Development tools: local emulators for tests and `make run`. Not deployed."""
