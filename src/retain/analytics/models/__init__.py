"""Buy-till-you-die and spend models, in the scikit-learn manner: fit() returns self."""
