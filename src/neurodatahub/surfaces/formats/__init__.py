"""One module per format of this kind; each registers its readers and writers at import."""
