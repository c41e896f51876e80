// shapes: a frame is [H, W, 3] RGB24, row-major, channels last; a mask is [H, W], coverage 0...255.
import Foundation
import JAMCore

/// Renders synthetic action videos whose classes differ only in the motion of one object.
///
/// Each video is a pure function of `(seed, classIndex, videoIndex)`:
/// - a smooth random background (colour blobs over value noise) seen through a camera that
///   jitters by a few pixels every frame;
/// - 2–4 static distractor shapes, fixed to the background (they jitter with it);
/// - one textured "hand" (a striped bar with a spotted head at one end: no rotational symmetry)
///   whose motion is the class: a straight translation (`Move*`) with random centre and speed, or a
///   rotation about its tail (`Rotate*`) with random pivot, start angle and angular speed.
///
/// The object's colour, texture and size, the background and the distractors come from the same
/// distributions for every class, and every trajectory is centred on its random midpoint, so the
/// time reversal of a class is its partner (`MoveRight` ↔ `MoveLeft`, `RotateClockwise` ↔
/// `RotateCounterclockwise`, ...). A single frame, or the unordered set of a video's frames, is
/// therefore equally likely under a class and under its partner: only frame order tells them apart.
/// Use an even number of classes so that every class has its partner in the set.
///
/// Sizes are relative to `min(width, height)` (the object is about a third of it long) so that the
/// object stays visible after the pipeline downsizes frames to 64–112 px.
public struct SyntheticActionGenerator: Sendable {
    /// Class names in class-index order; a generator with `classes = k` uses the first k.
    /// Clockwise is as seen on screen.
    public static let motionNames: [String] = [
        "MoveRight", "MoveLeft", "MoveUp", "MoveDown", "RotateClockwise", "RotateCounterclockwise",
        "MoveUpRight", "MoveDownLeft", "MoveUpLeft", "MoveDownRight",
    ]

    /// Settings outside their valid range, named.
    public struct InvalidSettings: Error, CustomStringConvertible, Sendable {
        public var description: String
    }

    public let width: Int
    public let height: Int
    /// Frames per video (T).
    public let frames: Int
    public let fps: Double
    /// Number of classes, 2...10: the first `classes` of `motionNames`.
    public let classes: Int
    public let seed: UInt64
    /// Frames of one pass of the motion. 0: one pass spread over the whole video, so a longer
    /// video moves more slowly. P ≥ 2: one pass per P frames at any length, repeating — a
    /// translation starts again from its first end (at a random phase of the video), a rotation
    /// keeps turning — so that every P-frame clip of a long video holds as much motion as a
    /// P-frame video. Time reversal still maps a class to its partner.
    public let motionPeriod: Int

    public init(width: Int = 160, height: Int = 120, frames: Int = 40, fps: Double = 25,
                classes: Int = 10, seed: UInt64 = 0, motionPeriod: Int = 0) throws {
        if width < 16 || height < 16 { throw InvalidSettings(description: "frame size \(width)x\(height): each side must be at least 16") }
        if frames < 2 { throw InvalidSettings(description: "frames \(frames): a motion needs at least 2 frames") }
        if !(fps.isFinite && fps > 0) { throw InvalidSettings(description: "fps \(fps) must be positive") }
        if !(2...10).contains(classes) { throw InvalidSettings(description: "classes \(classes) must be in 2...10") }
        if motionPeriod < 0 || motionPeriod == 1 {
            throw InvalidSettings(description: "motion period \(motionPeriod): 0 (the whole video) or at least 2 frames")
        }
        self.width = width
        self.height = height
        self.frames = frames
        self.fps = fps
        self.classes = classes
        self.seed = seed
        self.motionPeriod = motionPeriod
    }

    /// The names of this generator's classes, in class-index order.
    public var classNames: [String] { Array(Self.motionNames.prefix(classes)) }

    /// The frames of one video: `frames` arrays of `[H, W, 3]` RGB24.
    public func render(classIndex: Int, videoIndex: Int) -> [[UInt8]] {
        let scene = ActionScene(self, classIndex: classIndex, videoIndex: videoIndex)
        return (0..<frames).map { scene.renderFrame($0) }
    }

    /// The moving object's coverage in each frame of the same video as `render`: `frames` arrays of
    /// `[H, W]`, 255 inside the object, 0 outside, anti-aliased edges; in camera coordinates, so it
    /// includes the jitter. For tests and debugging (where the object is, without segmenting it).
    public func renderObjectMasks(classIndex: Int, videoIndex: Int) -> [[UInt8]] {
        let scene = ActionScene(self, classIndex: classIndex, videoIndex: videoIndex)
        return (0..<frames).map { scene.renderMask($0) }
    }

    /// The moving object's track in the same video as `render`: per frame the coverage-weighted
    /// centre and the bounding box of the pixels it covers at least half (alpha ≥ 0.5), in the
    /// frame's pixel coordinates. A frame where the object is off screen gets an empty box at
    /// its last centre (never the case with the generator's margins).
    public func objectTrack(classIndex: Int, videoIndex: Int) -> ObjectTrack {
        let scene = ActionScene(self, classIndex: classIndex, videoIndex: videoIndex)
        var frames: [ObjectTrack.Frame] = []
        for t in 0..<self.frames {
            var (sx, sy, weight) = (0.0, 0.0, 0.0)
            var (x0, y0, x1, y1) = (Int.max, Int.max, Int.min, Int.min)
            scene.forEachObjectPixel(t) { offset, alpha, _, _, _ in
                let x = offset % width, y = offset / width
                sx += alpha * (Double(x) + 0.5)
                sy += alpha * (Double(y) + 0.5)
                weight += alpha
                if alpha >= 0.5 {
                    (x0, y0, x1, y1) = (min(x0, x), min(y0, y), max(x1, x + 1), max(y1, y + 1))
                }
            }
            let center = weight > 0 ? [sx / weight, sy / weight] : (frames.last?.center ?? [0, 0])
            let box = x0 <= x1 ? [x0, y0, x1, y1] : [Int(center[0]), Int(center[1]), Int(center[0]), Int(center[1])]
            frames.append(ObjectTrack.Frame(center: center, box: box))
        }
        return ObjectTrack(width: width, height: height, frames: frames)
    }

    /// Renders one video and encodes it to `url` (see `VideoWriter` for the determinism of the file).
    public func writeVideo(classIndex: Int, videoIndex: Int, to url: URL, codec: VideoCodec) throws {
        let writer = try VideoWriter(url: url, width: width, height: height, fps: fps, codec: codec)
        let scene = ActionScene(self, classIndex: classIndex, videoIndex: videoIndex)
        for t in 0..<frames { try writer.append(rgb: scene.renderFrame(t)) }
        try writer.finish()
    }
}

// MARK: - Random numbers

extension SplitMix64 {
    /// Uniform in [a, b) from the top 53 bits (`nextUniform()`); every synthetic video's
    /// geometry and colours depend on this exact derivation.
    public mutating func uniform(_ a: Double, _ b: Double) -> Double {
        a + (b - a) * nextUniform()
    }

    /// Uniform integer in `range` from `next() mod count` (bias below 2^-50 for the small
    /// ranges used here).
    public mutating func integer(_ range: ClosedRange<Int>) -> Int {
        range.lowerBound + Int(next() % UInt64(range.count))
    }
}

// MARK: - Scene

/// A saturated random colour: the one palette for the object and the distractors.
private func randomVividColor(_ rng: inout SplitMix64) -> SIMD3<Double> {
    let h = rng.uniform(0, 6), s = rng.uniform(0.65, 1), v = rng.uniform(0.75, 1)
    let c = v * s, x = c * (1 - abs(h.truncatingRemainder(dividingBy: 2) - 1)), m = v - c
    let rgb: SIMD3<Double>
    switch Int(h) {
    case 0: rgb = [c, x, 0]
    case 1: rgb = [x, c, 0]
    case 2: rgb = [0, c, x]
    case 3: rgb = [0, x, c]
    case 4: rgb = [x, 0, c]
    default: rgb = [c, 0, x]
    }
    return (rgb + SIMD3(repeating: m)) * 255
}

/// Signed distance from `p` to a capsule from the origin to (length, 0) of radius `radius`.
@inline(__always)
private func capsuleDistance(_ u: Double, _ v: Double, length: Double, radius: Double) -> Double {
    let cu = min(max(u, 0), length)
    return ((u - cu) * (u - cu) + v * v).squareRoot() - radius
}

/// One video's fixed content (background, distractors, object) and per-frame camera and pose.
private struct ActionScene {
    let width: Int, height: Int
    /// Camera jitter amplitude; the background canvas has this margin on every side.
    let margin: Int
    /// `[H + 2m, W + 2m, 3]`: background with distractors, in world coordinates.
    let canvas: [UInt8]
    let canvasWidth: Int
    /// Per-frame camera offset in pixels, each in -margin...margin.
    let jitter: [(x: Int, y: Int)]
    /// Per-frame object pose: tail (pivot) position in nominal camera coordinates, and angle
    /// (radians; increasing is clockwise on screen, y pointing down).
    let poses: [(x: Double, y: Double, angle: Double)]
    let hand: Hand

    /// The moving object: a striped capsule from the tail to the head, a disk at the head.
    struct Hand {
        var length: Double, halfThickness: Double, headRadius: Double, spotRadius: Double
        var stripePeriod: Double, outline: Double
        var stripeA: SIMD3<Double>, stripeB: SIMD3<Double>, spot: SIMD3<Double>, outlineColor: SIMD3<Double>

        var reach: Double { length + headRadius + outline + 2 }

        /// Signed distance (negative inside) at local coordinates (u along the bar, v across).
        @inline(__always)
        func distance(_ u: Double, _ v: Double) -> Double {
            let bar = capsuleDistance(u, v, length: length, radius: halfThickness)
            let head = ((u - length) * (u - length) + v * v).squareRoot() - headRadius
            return min(bar, head)
        }

        @inline(__always)
        func color(_ u: Double, _ v: Double, distance: Double) -> SIMD3<Double> {
            if distance > -outline { return outlineColor }
            if ((u - length) * (u - length) + v * v) < spotRadius * spotRadius { return spot }
            return Int((u / stripePeriod + 64).rounded(.down)) & 1 == 0 ? stripeA : stripeB
        }
    }

    init(_ g: SyntheticActionGenerator, classIndex: Int, videoIndex: Int) {
        precondition((0..<g.classes).contains(classIndex), "class index \(classIndex) outside 0..<\(g.classes)")
        precondition(videoIndex >= 0, "negative video index \(videoIndex)")
        width = g.width
        height = g.height
        let m = Double(min(g.width, g.height))
        // Separate streams per concern, each a pure function of (seed, class, video).
        let videoSeed = SplitMix64.mix(
            SplitMix64.mix(g.seed ^ 0x4A41_4D00 &+ UInt64(classIndex) &* 0x9E37_79B9_7F4A_7C15)
                ^ UInt64(videoIndex) &* 0xD1B5_4A32_D192_ED03)
        var backgroundRNG = SplitMix64(seed: videoSeed ^ 1)
        var objectRNG = SplitMix64(seed: videoSeed ^ 2)
        var motionRNG = SplitMix64(seed: videoSeed ^ 3)
        var cameraRNG = SplitMix64(seed: videoSeed ^ 4)

        let jitterAmplitude = max(1, Int((0.012 * m).rounded()))
        margin = jitterAmplitude
        canvasWidth = g.width + 2 * jitterAmplitude
        canvas = Self.makeBackground(
            width: canvasWidth, height: g.height + 2 * jitterAmplitude, scale: m, rng: &backgroundRNG)

        jitter = (0..<g.frames).map { _ in
            (cameraRNG.integer(-jitterAmplitude...jitterAmplitude), cameraRNG.integer(-jitterAmplitude...jitterAmplitude))
        }

        let a = randomVividColor(&objectRNG)
        let spotColor = randomVividColor(&objectRNG)
        hand = Hand(
            length: objectRNG.uniform(0.24, 0.32) * m,
            halfThickness: objectRNG.uniform(0.045, 0.06) * m,
            headRadius: objectRNG.uniform(0.08, 0.1) * m,
            spotRadius: objectRNG.uniform(0.03, 0.045) * m,
            stripePeriod: objectRNG.uniform(0.05, 0.08) * m,
            outline: max(1, 0.012 * m),
            stripeA: a, stripeB: a * objectRNG.uniform(0.3, 0.5), spot: spotColor,
            outlineColor: SIMD3(repeating: objectRNG.uniform(10, 40)))

        // Draw every motion parameter whatever the class, so all classes consume the streams alike.
        let w = Double(g.width), h = Double(g.height)
        // Long enough to cross several cells of the coarse feature grids (S/16) within one clip.
        let travel = motionRNG.uniform(0.7, 0.9) * m
        let fixedAngle = motionRNG.uniform(0, 2 * Double.pi)
        let u1 = motionRNG.uniform(0, 1), u2 = motionRNG.uniform(0, 1)
        let pivotX = motionRNG.uniform(0.35, 0.65) * w, pivotY = motionRNG.uniform(0.35, 0.65) * h
        let sweep = motionRNG.uniform(1.0, 2.0) * Double.pi
        let startAngle = motionRNG.uniform(0, 2 * Double.pi)

        // Drawn last, so that the draws above (and every video of motion_period 0) stay as they were.
        let phase = motionRNG.uniform(0, 1)

        let last = Double(g.frames - 1)
        let name = SyntheticActionGenerator.motionNames[classIndex]
        let halfBar = hand.length / 2
        // How far through a pass frame t is: 0...1 over the whole video, or for a period P,
        // t / P from a random phase, wrapped (the translation starts again; rotation needs no wrap).
        let periodic = g.motionPeriod > 0
        func progress(_ t: Int) -> Double {
            periodic ? Double(t) / Double(g.motionPeriod) + phase : Double(t) / last
        }
        if name.hasPrefix("Rotate") {
            let sign: Double = name == "RotateClockwise" ? 1 : -1
            poses = (0..<g.frames).map { t in
                (pivotX, pivotY, startAngle + sign * sweep * progress(t))
            }
        } else {
            var dx = 0.0, dy = 0.0
            if name.contains("Right") { dx = 1 }
            if name.contains("Left") { dx = -1 }
            if name.contains("Up") { dy = -1 }
            if name.contains("Down") { dy = 1 }
            let norm = (dx * dx + dy * dy).squareRoot()
            dx *= travel / norm
            dy *= travel / norm
            // The trajectory's midpoint is uniform over the positions that keep both ends inside.
            let edge = 0.15 * m
            let cx = edge + abs(dx) / 2 + u1 * max(0, w - 2 * edge - abs(dx))
            let cy = edge + abs(dy) / 2 + u2 * max(0, h - 2 * edge - abs(dy))
            poses = (0..<g.frames).map { t in
                let p = progress(t)
                let s = (periodic ? p - p.rounded(.down) : p) - 0.5
                return (cx + s * dx - halfBar * cos(fixedAngle), cy + s * dy - halfBar * sin(fixedAngle), fixedAngle)
            }
        }
    }

    /// Smooth random background (base colour, Gaussian colour blobs, value noise) with 2–4
    /// textured static distractors, quantised to RGB24.
    static func makeBackground(width: Int, height: Int, scale m: Double, rng: inout SplitMix64) -> [UInt8] {
        var image = [Float](repeating: 0, count: width * height * 3)
        let base = SIMD3<Double>(repeating: rng.uniform(80, 160))
            + SIMD3(rng.uniform(-25, 25), rng.uniform(-25, 25), rng.uniform(-25, 25))
        for i in 0..<(width * height) {
            image[3 * i] = Float(base.x); image[3 * i + 1] = Float(base.y); image[3 * i + 2] = Float(base.z)
        }
        // Colour blobs: broad, low-contrast variation.
        for _ in 0..<10 {
            let cx = rng.uniform(0, Double(width)), cy = rng.uniform(0, Double(height))
            let sigma = rng.uniform(0.08, 0.3) * m
            let amp = SIMD3(rng.uniform(-45, 45), rng.uniform(-45, 45), rng.uniform(-45, 45))
            let r = Int(3 * sigma)
            let x0 = max(0, Int(cx) - r), x1 = min(width - 1, Int(cx) + r)
            let y0 = max(0, Int(cy) - r), y1 = min(height - 1, Int(cy) + r)
            if x0 > x1 || y0 > y1 { continue }
            let k = -1 / (2 * sigma * sigma)
            for y in y0...y1 {
                let dy = Double(y) + 0.5 - cy
                for x in x0...x1 {
                    let dx = Double(x) + 0.5 - cx
                    let e = exp((dx * dx + dy * dy) * k)
                    let o = 3 &* (y &* width &+ x)
                    image[o] += Float(amp.x * e); image[o &+ 1] += Float(amp.y * e); image[o &+ 2] += Float(amp.z * e)
                }
            }
        }
        // Value noise: a random lattice, smoothly interpolated, for fine texture.
        let cell = max(3.0, m / 14)
        let gw = Int(Double(width) / cell) + 2, gh = Int(Double(height) / cell) + 2
        let lattice = (0..<(gw * gh * 3)).map { _ in rng.uniform(-16, 16) }
        for y in 0..<height {
            let fy = Double(y) / cell, iy = Int(fy), ty = fy - Double(iy), sy = ty * ty * (3 - 2 * ty)
            for x in 0..<width {
                let fx = Double(x) / cell, ix = Int(fx), tx = fx - Double(ix), sx = tx * tx * (3 - 2 * tx)
                for c in 0..<3 {
                    func node(_ i: Int, _ j: Int) -> Double { lattice[((j &* gw) &+ i) &* 3 &+ c] }
                    let top = node(ix, iy) + (node(ix + 1, iy) - node(ix, iy)) * sx
                    let bottom = node(ix, iy + 1) + (node(ix + 1, iy + 1) - node(ix, iy + 1)) * sx
                    image[3 &* (y &* width &+ x) &+ c] += Float(top + (bottom - top) * sy)
                }
            }
        }
        // Static distractors: disks, squares and bars in the same vivid palette as the object.
        for _ in 0..<rng.integer(2...4) {
            let kind = rng.integer(0...2)
            let cx = rng.uniform(0.1, 0.9) * Double(width), cy = rng.uniform(0.1, 0.9) * Double(height)
            let size = rng.uniform(0.06, 0.11) * m
            let angle = rng.uniform(0, Double.pi)
            let color = randomVividColor(&rng)
            let dark = color * rng.uniform(0.3, 0.6)
            let checker = rng.uniform(0.04, 0.07) * m
            let ca = cos(angle), sa = sin(angle)
            let reach = Int(2.2 * size) + 2
            for y in max(0, Int(cy) - reach)...min(height - 1, Int(cy) + reach) {
                for x in max(0, Int(cx) - reach)...min(width - 1, Int(cx) + reach) {
                    let px = Double(x) + 0.5 - cx, py = Double(y) + 0.5 - cy
                    let u = ca * px + sa * py, v = -sa * px + ca * py
                    let d: Double
                    switch kind {
                    case 0: d = (u * u + v * v).squareRoot() - size
                    case 1: d = max(abs(u), abs(v)) - size * 0.9
                    default: d = capsuleDistance(u + 1.8 * size, v, length: 3.6 * size, radius: 0.4 * size)
                    }
                    let alpha = min(max(0.5 - d, 0), 1)
                    if alpha <= 0 { continue }
                    let cell = (Int((u / checker + 64).rounded(.down)) ^ Int((v / checker + 64).rounded(.down))) & 1
                    let c = cell == 0 ? color : dark
                    let o = 3 &* (y &* width &+ x)
                    for k in 0..<3 {
                        image[o &+ k] = Float(Double(image[o &+ k]) * (1 - alpha) + c[k] * alpha)
                    }
                }
            }
        }
        return image.map { UInt8(min(max($0.rounded(), 0), 255)) }
    }

    /// Calls `body(offset, alpha, u, v, distance)` for every frame pixel the object covers at frame `t`.
    @inline(__always)
    func forEachObjectPixel(_ t: Int, _ body: (Int, Double, Double, Double, Double) -> Void) {
        let pose = poses[t]
        let px = pose.x - Double(jitter[t].x), py = pose.y - Double(jitter[t].y)
        let ca = cos(pose.angle), sa = sin(pose.angle)
        let reach = hand.reach
        let x0 = max(0, Int((px - reach).rounded(.down))), x1 = min(width - 1, Int((px + reach).rounded(.up)))
        let y0 = max(0, Int((py - reach).rounded(.down))), y1 = min(height - 1, Int((py + reach).rounded(.up)))
        if x0 > x1 || y0 > y1 { return }
        for y in y0...y1 {
            let dy = Double(y) + 0.5 - py
            for x in x0...x1 {
                let dx = Double(x) + 0.5 - px
                let u = ca * dx + sa * dy, v = -sa * dx + ca * dy
                let d = hand.distance(u, v)
                let alpha = min(max(0.5 - d, 0), 1)
                if alpha > 0 { body(y &* width &+ x, alpha, u, v, d) }
            }
        }
    }

    func renderFrame(_ t: Int) -> [UInt8] {
        var frame = [UInt8](repeating: 0, count: width * height * 3)
        let ox = margin + jitter[t].x, oy = margin + jitter[t].y
        let rowBytes = width * 3
        frame.withUnsafeMutableBufferPointer { out in
            canvas.withUnsafeBufferPointer { bg in
                for y in 0..<height {
                    let from = bg.baseAddress! + ((y &+ oy) &* canvasWidth &+ ox) &* 3
                    (out.baseAddress! + y &* rowBytes).update(from: from, count: rowBytes)
                }
            }
            forEachObjectPixel(t) { offset, alpha, u, v, d in
                let c = hand.color(u, v, distance: d)
                let o = offset &* 3
                for k in 0..<3 {
                    let blended = Double(out[o &+ k]) * (1 - alpha) + c[k] * alpha
                    out[o &+ k] = UInt8(min(max(blended.rounded(), 0), 255))
                }
            }
        }
        return frame
    }

    func renderMask(_ t: Int) -> [UInt8] {
        var mask = [UInt8](repeating: 0, count: width * height)
        forEachObjectPixel(t) { offset, alpha, _, _, _ in mask[offset] = UInt8((alpha * 255).rounded()) }
        return mask
    }
}
