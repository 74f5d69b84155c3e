/// The built-in web front end as the server hands it out: each file of this folder (embedded by
/// SwiftPM's `embedInCode`, listed in Package.swift) under the URL path a browser asks for.
/// The .html/.js/.css files are the source of truth; `PackageResources` is generated from them.
public enum WebAssets {
    /// One file: its bytes and the Content-Type to send with them.
    public struct Asset: Sendable {
        public let bytes: [UInt8]
        public let contentType: String
    }

    static let html = "text/html; charset=utf-8"
    static let javascript = "text/javascript; charset=utf-8"
    static let css = "text/css; charset=utf-8"

    /// URL path → file. The page is `/` (and `/index.html`); `/completion.js` is the module the
    /// spec documents for custom front ends; the page's own modules and style live under `/ui/`.
    public static let byPath: [String: Asset] = [
        "/": Asset(bytes: PackageResources.index_html, contentType: html),
        "/index.html": Asset(bytes: PackageResources.index_html, contentType: html),
        "/completion.js": Asset(bytes: PackageResources.completion_js, contentType: javascript),
        "/ui/style.css": Asset(bytes: PackageResources.style_css, contentType: css),
        "/ui/app.js": Asset(bytes: PackageResources.app_js, contentType: javascript),
        "/ui/api.js": Asset(bytes: PackageResources.api_js, contentType: javascript),
        "/ui/store.js": Asset(bytes: PackageResources.store_js, contentType: javascript),
        "/ui/settings.js": Asset(bytes: PackageResources.settings_js, contentType: javascript),
        "/ui/markdown.js": Asset(bytes: PackageResources.markdown_js, contentType: javascript),
        "/ui/chat.js": Asset(bytes: PackageResources.chat_js, contentType: javascript),
        "/ui/complete.js": Asset(bytes: PackageResources.complete_js, contentType: javascript),
        "/ui/status.js": Asset(bytes: PackageResources.status_js, contentType: javascript),
    ]
}
