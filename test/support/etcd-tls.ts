import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import https from 'node:https';
import path from 'node:path';

/** Files of a throwaway CA, a server cert for one loopback IP and a client cert. */
export interface TestTls {
  readonly ca: string;
  readonly serverCert: string;
  readonly serverKey: string;
  readonly clientCert: string;
  readonly clientKey: string;
}

function openssl(dir: string, ...args: string[]): void {
  execFileSync('/usr/bin/openssl', args, { cwd: dir, stdio: 'ignore' });
}

function signed(dir: string, name: string, extension: string): void {
  openssl(
    dir,
    'req',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    `${name}.key`,
    '-out',
    `${name}.csr`,
    '-subj',
    `/CN=${name}`,
  );
  fs.writeFileSync(path.join(dir, `${name}.ext`), `${extension}\n`);
  openssl(
    dir,
    'x509',
    '-req',
    '-in',
    `${name}.csr`,
    '-CA',
    'ca.crt',
    '-CAkey',
    'ca.key',
    '-CAcreateserial',
    '-out',
    `${name}.crt`,
    '-days',
    '2',
    '-extfile',
    `${name}.ext`,
  );
}

/** Makes a CA plus server (SAN = host) and client certs in dir with openssl. */
export function makeTls(dir: string, host: string): TestTls {
  fs.mkdirSync(dir, { recursive: true });
  openssl(
    dir,
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    'ca.key',
    '-out',
    'ca.crt',
    '-days',
    '2',
    '-subj',
    '/CN=rollout-test-ca',
  );
  signed(dir, 'server', `subjectAltName=IP:${host}\nextendedKeyUsage=serverAuth`);
  signed(dir, 'client', 'extendedKeyUsage=clientAuth');
  const p = (file: string): string => path.join(dir, file);
  return {
    ca: p('ca.crt'),
    serverCert: p('server.crt'),
    serverKey: p('server.key'),
    clientCert: p('client.crt'),
    clientKey: p('client.key'),
  };
}

/** GET /health over TLS with the client cert; true when etcd says healthy. */
export function tlsHealthy(endpoint: string, tls: TestTls): Promise<boolean> {
  return new Promise((resolve) => {
    const request = https.get(
      `${endpoint}/health`,
      {
        ca: fs.readFileSync(tls.ca),
        cert: fs.readFileSync(tls.clientCert),
        key: fs.readFileSync(tls.clientKey),
        timeout: 1000,
      },
      (response) => {
        let body = '';
        response.on('data', (chunk: Buffer) => (body += chunk.toString()));
        response.on('end', () => resolve(body.includes('"health":"true"')));
      },
    );
    request.on('error', () => resolve(false));
    request.on('timeout', () => request.destroy());
  });
}
