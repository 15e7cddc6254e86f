"""A neurodatahub format plugin: space-separated connectivity matrices."""
