"""One module per format of images; each registers its reader and writer for every image kind."""
