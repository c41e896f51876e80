// Placeholder: jam-features lands with its stage.
print("jam-features: not built yet")
