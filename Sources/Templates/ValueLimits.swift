/// Bounds on walks over nested runtime values (printing, equality, ordering, `tojson`).
///
/// Templates can build values of any shape: `l.append(l)` makes a list that contains itself,
/// appending to the innermost list in a loop makes one nested a million levels deep, and
/// `{% set a = [a, a] %}` in a loop doubles the printed size each time while the value stays
/// small. Every recursive walk carries a depth and a node budget so none of these can exhaust
/// the stack or run without end; what they do when a bound is hit is documented per walk.
enum ValueLimits {
    /// Levels of containers a walk descends into.
    static let maxDepth = 128
    /// Container elements one walk may visit.
    static let maxNodes = 1_000_000

    /// Throws unless `value` is acyclic, at most `maxDepth` containers deep and, written out
    /// as a tree, has at most `maxNodes` elements. Iterative and memoized per container, so it
    /// costs one pass over the distinct containers however they are shared.
    static func check(_ value: Value) throws {
        guard let root = Container(value) else { return }
        // Per container: nil while on the current path (a cycle if met again), then its
        // (height, tree size) once finished.
        var done: [ObjectIdentifier: (height: Int, size: Int)?] = [:]
        var stack: [(box: Container, children: [Value], next: Int, height: Int, size: Int)] = []
        func push(_ c: Container) throws {
            done[c.id] = .some(nil)
            stack.append((c, c.children, 0, 0, 0))
            if stack.count > maxDepth {
                throw TemplateError(.limit, "value nested more than \(maxDepth) levels deep")
            }
        }
        try push(root)
        while !stack.isEmpty {
            let top = stack.count - 1
            if stack[top].next < stack[top].children.count {
                let child = stack[top].children[stack[top].next]
                stack[top].next += 1
                stack[top].size = min(maxNodes + 1, stack[top].size + 1)
                guard let c = Container(child) else { continue }
                switch done[c.id] {
                case nil: try push(c)
                case .some(nil): throw TemplateError(.limit, "value contains itself")
                case .some(let finished?):
                    stack[top].height = max(stack[top].height, finished.height)
                    stack[top].size = min(maxNodes + 1, stack[top].size + finished.size)
                }
            } else {
                let f = stack.removeLast()
                if f.size > maxNodes { throw TemplateError(.limit, "value has more than \(maxNodes) elements") }
                done[f.box.id] = .some((f.height + 1, f.size))
                if let parent = stack.indices.last {
                    stack[parent].height = max(stack[parent].height, f.height + 1)
                    stack[parent].size = min(maxNodes + 1, stack[parent].size + f.size)
                }
            }
        }
    }

    /// A list, dict or namespace, seen as an object with children.
    private struct Container {
        let id: ObjectIdentifier
        let children: [Value]
        init?(_ v: Value) {
            switch v {
            case .list(let l): id = ObjectIdentifier(l); children = l.items
            case .dict(let d), .namespace(let d):
                id = ObjectIdentifier(d)
                children = d.entries.flatMap { [$0.0, $0.1] }
            default: return nil
            }
        }
    }
}
