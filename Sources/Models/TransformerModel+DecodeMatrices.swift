import CriaNumerics

extension TransformerModel {
    /// A layer's matrices that a decode step multiplies one by one: its projections and
    /// feed-forward, and a mixture-of-experts block's router and shared expert.
    public func ownMatrices(_ l: LayerWeights) -> [WeightMatrix] {
        let block = l.experts.map { [$0.router, $0.sharedGate, $0.sharedUp, $0.sharedDown, $0.sharedGateInput] } ?? []
        return ([l.query, l.key, l.value, l.output, l.gate, l.up, l.down] + block).compactMap { $0 }
    }

    /// The routed experts a decode step reads: `expert_used_count` of them (the first ones stand
    /// in for whichever a token picks: all have the same size).
    func routedExperts(_ e: ExpertLayerWeights?) -> [WeightMatrix] {
        guard let e, let used = config.experts?.used else { return [] }
        return (0..<min(used, e.gate.count)).flatMap { [e.gate.expert($0), e.up.expert($0), e.down.expert($0)] }
    }

    /// Every matrix one decode step reads, in the order it reads them: each layer's own and
    /// routed-expert matrices, then the LM head.
    public var decodeStepMatrices: [WeightMatrix] {
        weights.layers.flatMap { ownMatrices($0) + routedExperts($0.experts) } + [weights.output]
    }

    /// On a CPU family without a measured prefetch choice, the first model whose products stream
    /// from memory measures it on them (PrefetchCalibration; a no-op everywhere else, where the
    /// matrix list is not even built).
    func calibratePrefetch() {
        PrefetchCalibration.shared.calibrateIfUnmeasured(decodeStepMatrices, pool: pool, threads: threads, path: kernelPath)
    }
}
