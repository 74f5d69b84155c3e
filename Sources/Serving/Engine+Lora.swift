import Models

/// The server-wide LoRA scales behind `GET`/`POST /lora-adapters`.
extension Engine {
    /// One loaded adapter as `/lora-adapters` lists it.
    public struct LoraAdapterInfo: Sendable, Equatable {
        public var id: Int
        public var path: String
        public var scale: Float
    }

    /// Every loaded adapter with the scale requests without a `lora` field use now.
    public var loraAdapters: [LoraAdapterInfo] {
        let scales = condition.withLock { defaultAdapterScales }
        return model.adapters.enumerated().map { LoraAdapterInfo(id: $0, path: $1.path, scale: scales[$0]) }
    }

    /// Sets the scales of requests that start from now on (`POST /lora-adapters`); `scales` has
    /// one finite value per adapter id, checked by the caller.
    public func setDefaultAdapterScales(_ scales: [Float]) {
        precondition(scales.count == model.adapters.count && scales.allSatisfy(\.isFinite))
        condition.withLock { defaultAdapterScales = scales }
    }
}
