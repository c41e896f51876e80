/// JAM's version, written into every artifact's `jam_producer` and every stage report.
public let jamVersion = "0.1.0"
