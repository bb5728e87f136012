import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

/** Files of one certificate as cert-manager mounts them: tls.crt, tls.key and the issuing ca.crt. */
export interface CertFiles {
  cert: string;
  key: string;
  ca: string;
}

export interface TestCa {
  readonly dir: string;
  readonly caCert: string;
  /** A leaf certificate for 127.0.0.1 / localhost, its subject OUs the roles it carries. */
  issue(name: string, options?: { roles?: string[]; days?: number }): CertFiles;
}

const openssl = (args: string[], cwd: string) => execFileSync('openssl', args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });

/** A throwaway CA (openssl, EC P-256) for handshake tests: real certificates, nothing mocked. */
export function createTestCa(dir: string, name = 'ralm-test-ca'): TestCa {
  fs.mkdirSync(dir, { recursive: true });
  const caKey = path.join(dir, `${name}.key`);
  const caCert = path.join(dir, `${name}.crt`);
  openssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', caKey, '-out', caCert, '-days', '2', '-subj', `/CN=${name}`, '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'], dir);
  return {
    dir,
    caCert,
    issue(leaf, options = {}) {
      const key = path.join(dir, `${leaf}.key`);
      const csr = path.join(dir, `${leaf}.csr`);
      const cert = path.join(dir, `${leaf}.crt`);
      const ext = path.join(dir, `${leaf}.ext`);
      const ous = (options.roles ?? []).map((r) => `/OU=${r}`).join('');
      openssl(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', key, '-out', csr, '-subj', `/CN=${leaf}${ous}`], dir);
      fs.writeFileSync(ext, 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth,clientAuth\nbasicConstraints=CA:FALSE\n');
      openssl(['x509', '-req', '-in', csr, '-CA', caCert, '-CAkey', caKey, '-CAcreateserial', '-out', cert, '-days', String(options.days ?? 1), '-extfile', ext], dir);
      return { cert, key, ca: caCert };
    },
  };
}
