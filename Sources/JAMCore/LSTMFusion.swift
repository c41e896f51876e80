/// How the joint LSTM feeds its branches into the memory cell (paper §3.3, docs/DESIGN.md §4):
/// `lstm.fusion` in the config and the fusion of JAMNN's `JointLSTMLayer`. Lives here because
/// JAMConfig and JAMNN do not depend on each other.
public enum LSTMFusion: String, Sendable, Hashable, Codable, CaseIterable {
    /// c̃_t = tanh(Σ_k W_ck x_tk + U_c h_{t−1} + b_c)
    case early
    /// c̃_t = tanh(Σ_k W_ck (x_tk ⊙ i_tk) + U_c h_{t−1} + b_c): each branch passes its own
    /// input sub-gate before it reaches the cell (the paper's choice).
    case late
}
