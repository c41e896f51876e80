// Placeholder: jam-synth lands with its stage.
print("jam-synth: not built yet")
