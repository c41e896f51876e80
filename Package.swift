// swift-tools-version:6.0
// JAM: joint attention on multi-level deep features, as a staged batch pipeline.
import PackageDescription

let package = Package(
    name: "JAM",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "jam-synth", targets: ["jam-synth"]),
        .executable(name: "jam-decode", targets: ["jam-decode"]),
        .executable(name: "jam-features", targets: ["jam-features"]),
        .executable(name: "jam-c3d", targets: ["jam-c3d"]),
        .executable(name: "jam-lstm", targets: ["jam-lstm"]),
        .executable(name: "jam-bench", targets: ["jam-bench"]),
        .executable(name: "jam-eval", targets: ["jam-eval"]),
        .executable(name: "jam-config", targets: ["jam-config"]),
        .executable(name: "jam-status", targets: ["jam-status"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    ],
    targets: [
        // MARK: - C libraries (Debian packages; see scripts/setup.sh)

        .systemLibrary(name: "CHDF5", pkgConfig: "hdf5-serial",
                       providers: [.apt(["libhdf5-dev"])]),
        .systemLibrary(name: "CBLAS", pkgConfig: "openblas",
                       providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(name: "CFFmpeg", pkgConfig: "libavformat",
                       providers: [.apt(["libavformat-dev", "libavcodec-dev", "libswscale-dev"])]),
        .systemLibrary(name: "CMPI", pkgConfig: "ompi-c", providers: [.apt(["libopenmpi-dev"])]),
        /// CPU hints (prefetch, spin-wait pause) as static inline functions (a header only, nothing to link).
        .systemLibrary(name: "CPrefetch"),

        // MARK: - Libraries, by concern

        /// Digests, errors, atomic files, progress, strict JSON: no C dependencies.
        .target(name: "JAMCore"),
        /// HDF5 files and the versioned artifact contract between stages.
        .target(name: "JAMArtifacts", dependencies: ["CHDF5", "JAMCore"]),
        /// `pipeline.json`: typed settings, per-stage digests, artifact locations.
        .target(name: "JAMConfig", dependencies: ["JAMCore"]),
        /// UCF101, HMDB51 and folder-per-class split readers.
        .target(name: "JAMDatasets", dependencies: ["JAMCore"]),
        /// FFmpeg decoding/encoding and the synthetic action generator.
        .target(name: "JAMVideo", dependencies: ["CFFmpeg", "JAMCore"]),
        /// Dense float kernels on channels-last buffers: GEMM, convolution, pooling, threads.
        .target(name: "JAMTensor", dependencies: ["CBLAS", "CPrefetch", "JAMCore", "JAMTensorAVX2"]),
        /// JAM's own kernels for AVX2 + FMA, compiled for Haswell-class x86-64 CPUs. JAMTensor
        /// calls them only after checking the CPU (`SkinnyGEMM`); nothing else may import them.
        .target(name: "JAMTensorAVX2", dependencies: ["CPrefetch"],
                swiftSettings: [.unsafeFlags(["-target-cpu", "haswell"], .when(platforms: [.linux]))]),
        /// Trainable layers, forward and backward side by side; parameters and optimizers.
        .target(name: "JAMNN", dependencies: ["JAMTensor", "CBLAS", "JAMCore"]),
        /// The ranks of a data-parallel job (MPI under mpirun/srun, else one process) and their
        /// fixed-order reductions.
        .target(name: "JAMDistributed", dependencies: ["CMPI", "JAMCore"]),
        /// Training machinery shared by the trained stages: clip sampling, checkpoints, the loop.
        .target(name: "JAMTraining", dependencies: ["JAMNN", "JAMTensor", "JAMArtifacts", "JAMCore", "JAMDistributed"]),
        /// The networks, each built from its config section: VGG16 (inference), the 3D convnet
        /// and its multi-branch model, the joint-attention LSTM and its model.
        .target(name: "JAMModel", dependencies: [
            "JAMTensor", "JAMNN", "JAMTraining", "JAMArtifacts", "JAMConfig", "JAMCore", "CBLAS",
        ]),
        /// The stages: units of work, resumability, failure records, progress.
        .target(name: "JAMStages", dependencies: [
            "JAMCore", "JAMArtifacts", "JAMConfig", "JAMDatasets", "JAMVideo", "JAMTensor", "JAMModel",
            "JAMNN", "JAMTraining", "JAMEval", "JAMDistributed",
        ]),
        /// Evaluation: prediction rules, metrics, plots (PNG through libavcodec), the HTML report.
        .target(name: "JAMEval", dependencies: ["CFFmpeg", "JAMCore"]),

        /// What every command line shares: --config, --profile, --force, --strict, error exits.
        .target(name: "JAMCommandLine", dependencies: [
            "JAMStages", "JAMConfig", "JAMDistributed", "JAMTensor", .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),

        // MARK: - Executables: thin command lines over JAMStages

        .executableTarget(name: "jam-synth", dependencies: [
            "JAMStages", "JAMCommandLine", .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        .executableTarget(name: "jam-decode", dependencies: [
            "JAMStages", "JAMCommandLine", .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        .executableTarget(name: "jam-features", dependencies: [
            "JAMStages", "JAMCommandLine", .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        .executableTarget(name: "jam-c3d", dependencies: [
            "JAMStages", "JAMCommandLine", "JAMDistributed", .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        .executableTarget(name: "jam-lstm", dependencies: [
            "JAMStages", "JAMCommandLine", "JAMDistributed", .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        .executableTarget(name: "jam-eval", dependencies: [
            "JAMStages", "JAMCommandLine", "JAMConfig", "JAMEval", "JAMTensor",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        .executableTarget(name: "jam-config", dependencies: [
            "JAMStages", "JAMConfig", "JAMCore", "JAMEval", "JAMTensor", .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        .executableTarget(name: "jam-status", dependencies: [
            "JAMStages", "JAMConfig", .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        .executableTarget(name: "jam-bench", dependencies: [
            "JAMStages", "JAMCore", "JAMConfig", "JAMArtifacts", "JAMVideo", "JAMTensor", "JAMModel", "JAMNN", "JAMTraining",
            "JAMDistributed", .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),

        // MARK: - Tests (mirror the library targets)

        .target(name: "JAMTestSupport", dependencies: ["JAMCore", "JAMTensor"], path: "Tests/JAMTestSupport"),
        /// Independent Double implementations of the layers and networks (plain loops, no BLAS):
        /// the references of JAMNNTests and JAMModelTests.
        .target(name: "JAMReferenceSupport", dependencies: ["JAMModel", "JAMNN", "JAMCore"], path: "Tests/JAMReferenceSupport"),
        .testTarget(name: "JAMCoreTests", dependencies: ["JAMCore", "JAMTestSupport"]),
        .testTarget(name: "JAMArtifactsTests", dependencies: ["JAMArtifacts", "JAMCore", "JAMTestSupport"]),
        .testTarget(name: "JAMConfigTests", dependencies: ["JAMConfig", "JAMTestSupport"]),
        .testTarget(name: "JAMDatasetsTests", dependencies: ["JAMDatasets", "JAMTestSupport"],
                    resources: [.copy("Fixtures")]),
        .testTarget(name: "JAMVideoTests", dependencies: ["JAMVideo", "JAMCore", "JAMTestSupport"]),
        .testTarget(name: "JAMTensorTests", dependencies: ["JAMTensor", "JAMCore", "JAMTestSupport"]),
        .testTarget(name: "JAMNNTests", dependencies: ["JAMNN", "JAMTensor", "JAMCore", "JAMTestSupport", "JAMReferenceSupport"]),
        .testTarget(name: "JAMTrainingTests", dependencies: [
            "JAMTraining", "JAMNN", "JAMArtifacts", "JAMCore", "JAMTestSupport", "JAMConfig",
        ]),
        .testTarget(name: "JAMModelTests", dependencies: [
            "JAMModel", "JAMNN", "JAMConfig", "JAMTraining", "JAMArtifacts", "JAMCore", "JAMTestSupport",
            "JAMReferenceSupport",
        ]),
        .testTarget(name: "JAMEvalTests", dependencies: ["JAMEval", "JAMTestSupport"]),
        .testTarget(name: "JAMCommandLineTests", dependencies: [
            "JAMCommandLine", "JAMStages", "JAMConfig", "JAMTestSupport",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        .testTarget(name: "JAMStagesTests", dependencies: [
            "JAMStages", "JAMArtifacts", "JAMConfig", "JAMCore", "JAMTestSupport", "JAMNN", "JAMTraining",
            "JAMDatasets", "JAMTensor", "JAMVideo",
        ]),
    ]
)
