import JSON

/// Reads a `lora` list (`[{"id": 0, "scale": 0.5}, …]`, a request's field or the body of
/// `POST /lora-adapters`) into one scale per adapter id; ids it leaves out get 0, as in
/// llama-server. Unlike llama-server, an unknown id or a non-finite scale is refused (400)
/// rather than ignored.
enum LoraScales {
    static func parse(_ value: JSONValue, adapterCount: Int, field: String) throws(APIError) -> [Float] {
        guard let entries = value.arrayValue else {
            throw .badRequest("\(field) must be an array of {\"id\": N, \"scale\": X}")
        }
        var scales = [Float](repeating: 0, count: adapterCount)
        for entry in entries {
            guard entry.objectMembers != nil else {
                throw .badRequest("\(field): each entry must be an object {\"id\": N, \"scale\": X}")
            }
            let f = JSONFields(object: entry)
            guard let id = try f.int("id") else { throw .badRequest("\(field): an entry has no \"id\"") }
            guard (0..<adapterCount).contains(id) else {
                throw .badRequest("\(field): invalid adapter id \(id) (this server has \(adapterCount) LoRA adapter"
                    + "\(adapterCount == 1 ? "" : "s"); see GET /lora-adapters)")
            }
            let scale = try f.double("scale") ?? 0
            guard scale.isFinite, abs(scale) <= Double(Float.greatestFiniteMagnitude) else {
                throw .badRequest("\(field): the scale of adapter \(id) must be a finite number")
            }
            scales[id] = Float(scale)
        }
        return scales
    }
}
