// Placeholder: jam-decode lands with its stage.
print("jam-decode: not built yet")
