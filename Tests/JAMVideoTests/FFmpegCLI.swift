import Foundation

/// The ffmpeg command-line tool: the independent reference the decoder is compared with.
enum FFmpegCLI {
    static let path = "/usr/bin/ffmpeg"

    /// Runs ffmpeg with `arguments` and returns its standard output (raw frames).
    static func run(_ arguments: [String]) throws -> [UInt8] {
        try runProcess(path, ["-hide_banner", "-loglevel", "error", "-nostdin"] + arguments)
    }

    /// Runs another FFmpeg tool (ffprobe) and returns its standard output as text.
    static func runTool(_ tool: String, _ arguments: [String]) throws -> String {
        String(decoding: try runProcess(tool, arguments), as: UTF8.self)
    }

    private static func runProcess(_ executable: String, _ arguments: [String]) throws -> [UInt8] {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle.nullDevice
        try process.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw CLIError(description: "\(executable) \(arguments.joined(separator: " ")) exited with \(process.terminationStatus)")
        }
        return [UInt8](data)
    }

    /// `ffmpeg -i X -f rawvideo -pix_fmt rgb24 -s SxS -`: all frames, stretched to S×S.
    static func rawFrames(_ url: URL, size: Int) throws -> [UInt8] {
        try run(["-i", url.path, "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", "\(size)x\(size)", "-"])
    }

    /// The same through a filter chain, e.g. `scale=85:64:flags=bicubic,crop=64:64:10:0`.
    static func rawFrames(_ url: URL, filter: String) throws -> [UInt8] {
        try run(["-i", url.path, "-vf", filter, "-f", "rawvideo", "-pix_fmt", "rgb24", "-"])
    }

    struct CLIError: Error, CustomStringConvertible { var description: String }
}
