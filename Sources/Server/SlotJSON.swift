import Sampling
import Serving

/// One slot in GET /slots (and /health?include_slots): its state and its request's settings.
struct SlotJSON: Encodable {
    struct NextToken: Encodable {
        var has_next_token: Bool
        var n_remain: Int
        var n_decoded: Int
        var stopped_eos: Bool
        var stopped_limit: Bool
        var stopped_word: Bool
        var stopping_word: String
    }
    var id: Int
    var task_id: Int
    /// 0 idle, 1 processing (llama-server's numbering).
    var state: Int
    var n_ctx: Int
    var n_cached: Int
    var model: String
    var prompt: String
    var next_token: NextToken
    var settings: GenerationSettings

    init(_ s: SlotStatus, served: ServedModel) {
        id = s.id
        task_id = s.taskID
        state = s.isProcessing ? 1 : 0
        n_ctx = served.engine.slotContextSize
        n_cached = s.cachedTokens
        model = served.alias
        let request = s.request ?? GenerationRequest(promptTokens: [])
        prompt = request.promptText
        next_token = NextToken(has_next_token: s.isProcessing, n_remain: s.remaining, n_decoded: s.decoded,
                               stopped_eos: s.stoppedByEOS, stopped_limit: s.stoppedByLimit,
                               stopped_word: !s.stoppingWord.isEmpty, stopping_word: s.stoppingWord)
        settings = GenerationSettings(request: request, contextSize: n_ctx, model: served.alias,
                                      defaultPredictLimit: served.engine.configuration.defaultPredictLimit,
                                      defaultKeepCount: served.engine.configuration.defaultKeepCount,
                                      tokenize: served.penaltyTokens)
    }

    // llama-server lists the generation settings at the top level of each slot.
    func encode(to encoder: Encoder) throws {
        try settings.encode(to: encoder)
        var c = encoder.container(keyedBy: Keys.self)
        try c.encode(id, forKey: .id)
        try c.encode(task_id, forKey: .task_id)
        try c.encode(state, forKey: .state)
        try c.encode(n_cached, forKey: .n_cached)
        try c.encode(prompt, forKey: .prompt)
        try c.encode(next_token, forKey: .next_token)
        // Today's llama-server names, beside the spec's.
        try c.encode(state == 1, forKey: .is_processing)
        try c.encode(task_id, forKey: .id_task)
        try c.encode(false, forKey: .speculative)
    }
    enum Keys: CodingKey { case id, task_id, state, n_cached, prompt, next_token, is_processing, id_task, speculative }
}
