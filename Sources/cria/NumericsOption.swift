import ArgumentParser
import Models

/// `--numerics invariant|llama.cpp` on every command that runs the model.
extension NumericsMode: ExpressibleByArgument {
    static let help: ArgumentHelp = """
        Float order: invariant (default: a request's numbers depend only on its tokens) or llama.cpp \
        (llama.cpp's batch-dependent orders, reproducing its results bit for bit).
        """
}
