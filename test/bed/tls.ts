import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

/** A certificate and its key, PEM-encoded; the certificate is its own CA. */
export interface SelfSignedCertificate {
  certPem: string;
  keyPem: string;
  /** Base64 of certPem, as a kubeconfig's certificate-authority-data (and EKS's DescribeCluster) carry it. */
  caData: string;
}

/**
 * A throwaway self-signed certificate for 127.0.0.1 and localhost, made with the openssl CLI
 * (node:crypto makes keys, not X.509 certificates). Throws, naming openssl, when it is missing.
 */
export async function selfSignedCertificate(commonName = '127.0.0.1'): Promise<SelfSignedCertificate> {
  const dir = await mkdtemp(join(tmpdir(), 'eks-spot-drainer-tls-'));
  try {
    const [cert, key] = [join(dir, 'cert.pem'), join(dir, 'key.pem')];
    await promisify(execFile)(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-days',
        '1',
        '-subj',
        `/CN=${commonName}`,
        '-addext',
        'subjectAltName=IP:127.0.0.1,DNS:localhost',
        '-keyout',
        key,
        '-out',
        cert,
      ],
      { timeout: 30_000 },
    ).catch((error: unknown) => {
      throw new Error(`openssl could not make a test certificate: ${String(error)}`, { cause: error });
    });
    const [certPem, keyPem] = await Promise.all([readFile(cert, 'utf8'), readFile(key, 'utf8')]);
    return { certPem, keyPem, caData: Buffer.from(certPem).toString('base64') };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
