"""CartoonGAN in plain Keras 3: the networks, the published styles, stylizing photos, training."""
