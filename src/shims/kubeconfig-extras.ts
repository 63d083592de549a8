/**
 * The Lambda bundle's stand-ins for what client-node's KubeConfig imports only for kubeconfig files
 * and their extras: js-yaml (loadFromFile/loadFromString), jsonpath-plus (the Azure and GCP
 * auth-provider plugins), socks-proxy-agent and hpagent (a cluster's proxy-url). The function builds
 * its KubeConfig from the EKS endpoint and a token (src/kube/connection.ts kubeConfigForEndpoint),
 * which reaches none of them: about 0.16 MB less to parse on every cold start. serverless.yml's
 * custom.esbuild.alias points the four packages here; the CLI's build keeps the real ones. Should the
 * Lambda path ever reach one, it fails loudly instead of doing something else.
 */

function unavailable(what: string): never {
  throw new Error(`${what} is not in the Lambda bundle (src/shims/kubeconfig-extras.ts)`);
}

/** js-yaml's default export. */
export default {
  load: (): never => unavailable('a kubeconfig file (js-yaml)'),
  dump: (): never => unavailable('a kubeconfig file (js-yaml)'),
};

/** jsonpath-plus, for the auth-provider plugins. */
export function JSONPath(): never {
  return unavailable('an auth-provider plugin (jsonpath-plus)');
}

/** socks-proxy-agent and hpagent, for a cluster's proxy-url. */
export class SocksProxyAgent {
  constructor() {
    unavailable("a cluster's proxy-url (socks-proxy-agent)");
  }
}
export class HttpProxyAgent {
  constructor() {
    unavailable("a cluster's proxy-url (hpagent)");
  }
}
export class HttpsProxyAgent {
  constructor() {
    unavailable("a cluster's proxy-url (hpagent)");
  }
}
