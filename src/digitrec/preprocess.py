"""Any image -> a 28x28 digit the way MNIST made its own."""
PREPROCESS_VERSION = 1  # recorded in every bundle; bump when the pipeline's output changes
