/**
 * node-fetch 2 (client-node 1.x's HTTP client) imports whatwg-url but uses it only where Node has no
 * URL class, which no supported Node lacks. Bundles alias the package to Node's own classes: 280 KB
 * less to load on every cold start, and no punycode deprecation warning.
 */
export default { URL, URLSearchParams };
