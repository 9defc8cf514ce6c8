"""The network and the pyramid: VGG weight files (:mod:`.weights`), layer names (:mod:`.layers`),
feature maps as TensorFlow ops (:mod:`.vgg`), Gaussian and Laplacian pyramids with wrap-around
padding (:mod:`.pyramid`), and the geometry of the trunk on an image: map sizes, strides,
receptive fields and tiles (:mod:`.geometry`)."""
