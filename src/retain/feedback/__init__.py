"""Reading feedback: the classifier that ships with Retain."""
