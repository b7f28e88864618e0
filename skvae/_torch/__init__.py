"""PyTorch modules behind the estimators: encoder, decoder, likelihoods,
distributions and discriminator. Private: the estimators are the public API."""
