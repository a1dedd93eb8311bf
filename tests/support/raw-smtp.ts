/**
 * A minimal SMTP client over real STARTTLS for what nodemailer will not send: bare LF line endings, huge
 * streamed bodies, exact command sequences. Replies are returned verbatim (last line of each reply).
 */
import fs from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import tls from 'node:tls';

export class RawSmtp {
  /** The reply to the EHLO sent once TLS is up (a refusal of the session arrives here). */
  secureEhlo = '';
  private buf = '';
  private waiters: ((line: string) => void)[] = [];
  private replies: string[] = [];
  private constructor(private sock: net.Socket | tls.TLSSocket) {
    this.attach(sock);
  }

  private attach(sock: net.Socket | tls.TLSSocket) {
    sock.on('data', (d: Buffer) => {
      this.buf += d.toString('latin1');
      let i;
      while ((i = this.buf.indexOf('\r\n')) !== -1) {
        const line = this.buf.slice(0, i);
        this.buf = this.buf.slice(i + 2);
        if (/^\d{3} /.test(line)) {
          const w = this.waiters.shift();
          if (w) w(line);
          else this.replies.push(line);
        }
      }
    });
    sock.on('error', () => {});
  }

  reply(timeoutMs = 30_000): Promise<string> {
    const queued = this.replies.shift();
    if (queued !== undefined) return Promise.resolve(queued);
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error('SMTP reply timeout')), timeoutMs);
      this.waiters.push((l) => {
        clearTimeout(t);
        resolve(l);
      });
    });
  }

  async cmd(line: string): Promise<string> {
    this.sock.write(`${line}\r\n`);
    return this.reply();
  }

  /** Writes raw bytes, honouring back-pressure. */
  async write(data: Buffer | string): Promise<void> {
    if (!this.sock.write(data)) await new Promise((r) => this.sock.once('drain', r));
  }

  static async connect(port: number, pki: string, cert: string | null): Promise<RawSmtp> {
    const sock = net.connect(port, '127.0.0.1');
    await new Promise<void>((resolve, reject) => {
      sock.once('connect', resolve);
      sock.once('error', reject);
    });
    const c = new RawSmtp(sock);
    await c.reply();
    await c.cmd('EHLO client.hopital-a.mssante.fr');
    const st = await c.cmd('STARTTLS');
    if (!st.startsWith('220')) throw new Error(`STARTTLS refused: ${st}`);
    sock.removeAllListeners('data');
    const files = cert
      ? { cert: await fs.readFile(path.join(pki, 'operators', `${cert}.crt`)), key: await fs.readFile(path.join(pki, 'operators', `${cert}.key`)) }
      : {};
    const secure = tls.connect({ socket: sock, ca: await fs.readFile(path.join(pki, 'ca.crt')), servername: 'localhost', ...files });
    await new Promise<void>((resolve, reject) => {
      secure.once('secureConnect', resolve);
      secure.once('error', reject);
    });
    c.sock = secure;
    c.buf = '';
    c.attach(secure);
    c.secureEhlo = await c.cmd('EHLO client.hopital-a.mssante.fr');
    return c;
  }

  /** A plain TCP session as the server greets it (no EHLO, no TLS): the greeting is in `greeting`. */
  static async plain(port: number): Promise<RawSmtp & { greeting: string }> {
    const sock = net.connect(port, '127.0.0.1');
    await new Promise<void>((resolve, reject) => {
      sock.once('connect', resolve);
      sock.once('error', reject);
    });
    const c = new RawSmtp(sock) as RawSmtp & { greeting: string };
    c.greeting = await c.reply();
    return c;
  }

  /** Resolves when the server has closed the connection. */
  closed(): Promise<void> {
    if (this.sock.destroyed || this.sock.readableEnded) return Promise.resolve();
    return new Promise((resolve) => this.sock.once('close', () => resolve()));
  }

  close(): void {
    this.sock.destroy();
  }
}
