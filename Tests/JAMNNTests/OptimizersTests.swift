import Foundation
import JAMCore
import JAMNN
import JAMTestSupport
import Testing

private func twoParameterStore() -> ParameterStore {
    let store = ParameterStore()
    store.add("w", shape: [2])
    store.add("b", shape: [1], decays: false)
    store.values = [1, -2, 0.5]
    return store
}

@Suite("Optimizers")
struct OptimizersTests {
    /// Hand-worked: with g constant, m̂ = g and v̂ = g² after bias correction at every step, so
    /// each step moves θ by lr·g/(|g| + ε) ≈ lr·sign(g); a changed g on step 2 is worked out fully.
    @Test("Adam: two hand-worked steps with bias correction")
    func adam() {
        let store = twoParameterStore()
        var adam = AdamOptimizer(parameterCount: 3, beta1: 0.9, beta2: 0.999, epsilon: 1e-8)
        store.gradients = [0.5, -4, 0]
        adam.update(store, learningRate: 0.1)
        // Step 1: m = 0.1g, v = 0.001g²; m̂ = g, v̂ = g²: θ −= 0.1·g/(|g| + 1e-8).
        expectClose(store.values, [0.9, -1.9, 0.5], rtol: 0, atol: 1e-6, "Adam step 1")
        store.gradients = [1, -4, 0]
        adam.update(store, learningRate: 0.1)
        // Step 2 for w0: m = 0.9·0.05 + 0.1·1 = 0.145; v = 0.999·0.00025 + 0.001·1 = 0.00124975;
        // m̂ = 0.145/0.19; v̂ = 0.00124975/0.001999; Δ = 0.1·m̂/√v̂.
        let mHat = 0.145 / 0.19, vHat = 0.00124975 / (1 - 0.999 * 0.999)
        let w0 = 0.9 - 0.1 * mHat / (vHat.squareRoot() + 1e-8)
        expectClose(store.values, [w0, -1.8, 0.5], rtol: 0, atol: 1e-6, "Adam step 2")
        #expect(adam.step == 2)
        expectClose(adam.firstMoment, [0.145, -0.76, 0], rtol: 1e-6, atol: 1e-7, "m")
        // rtol 1e-4: 1 − β2 computed in Float is 0.00099998713, 1.3e-5 off the decimal 0.001.
        expectClose(adam.secondMoment, [0.00124975, 0.999 * 0.016 + 0.016, 0], rtol: 1e-4, atol: 1e-9, "v")
    }

    @Test("SGD with momentum: u = μu + g, θ −= lr·u, two steps")
    func sgd() {
        let store = twoParameterStore()
        var sgd = SGDMomentumOptimizer(parameterCount: 3, momentum: 0.9)
        store.gradients = [1, -2, 4]
        sgd.update(store, learningRate: 0.1)
        expectClose(store.values, [0.9, -1.8, 0.1], rtol: 0, atol: 1e-6, "SGD step 1")
        store.gradients = [0, 1, -1]
        sgd.update(store, learningRate: 0.1)
        // u = [0.9, −1.8 + 1, 3.6 − 1] = [0.9, −0.8, 2.6]
        expectClose(sgd.velocity, [0.9, -0.8, 2.6], rtol: 1e-6, atol: 1e-6, "velocity")
        expectClose(store.values, [0.81, -1.72, -0.16], rtol: 0, atol: 1e-6, "SGD step 2")
    }

    @Test("learning-rate schedule: constant and step decay")
    func schedule() {
        #expect(LearningRateSchedule.constant(0.01).rate(epoch: 7) == 0.01)
        let s = LearningRateSchedule.stepDecay(initial: 1, factor: 0.5, everyEpochs: 3)
        #expect([0, 2, 3, 5, 6, 9].map(s.rate(epoch:)) == [1, 1, 0.5, 0.5, 0.25, 0.125])
        let decoded = try? JSONDecoder().decode(LearningRateSchedule.self, from: JSONEncoder().encode(s))
        #expect(decoded == s)
    }

    @Test("weight decay over chosen views: ζΣθ² and 2ζθ, biases exempt when marked")
    func weightDecay() {
        let store = twoParameterStore()
        let penalty = store.applyWeightDecay(coefficient: 0.1, to: store.views)
        #expect(abs(penalty - 0.1 * (1 + 4)) < 1e-6)
        expectClose(store.gradients, [0.2, -0.4, 0], rtol: 0, atol: 1e-7, "decay gradient")
        #expect(store.applyWeightDecay(coefficient: 0.1, to: []) == 0)
    }

    @Test("non-finite detection names the parameter, the element and the buffer")
    func nonFinite() {
        let store = twoParameterStore()
        #expect(store.firstNonFinite() == nil)
        store.gradients[2] = .infinity
        #expect(store.firstNonFinite() == NonFiniteParameter(name: "b", index: 0, value: .infinity, inGradient: true))
        store.values[1] = .nan
        let found = store.firstNonFinite()
        #expect(found?.name == "w" && found?.index == 1 && found?.inGradient == false && found?.value.isNaN == true)
        #expect([Float(1), 2, .nan].withUnsafeBufferPointer(firstNonFiniteIndex) == 2)
        store.gradients = [3, 4, 0]
        #expect(store.gradientNorm() == 5)
    }

    @Test("SplitMix64 matches the published reference sequence")
    func splitMix() {
        // First outputs for seed 1234567 from Vigna's splitmix64.c (compiled with gcc to check).
        var r = SplitMix64(seed: 1_234_567)
        #expect([r.next(), r.next(), r.next()] == [6_457_827_717_110_365_317, 3_203_168_211_198_807_973, 9_817_491_932_198_370_423])
        var g = SplitMix64(seed: 5)
        let draws = (0..<20000).map { _ in g.nextGaussian() }
        let mean = draws.reduce(0, +) / 20000
        let variance = draws.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / 20000
        #expect(abs(mean) < 0.03 && abs(variance - 1) < 0.04)
    }
}
