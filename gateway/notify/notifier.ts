/**
 * E-mails to patients' personal addresses (login codes, and later new-message notices). They never carry
 * health data: no subject, sender, document title. Delivery: NOTIFY_SMTP_URL when set (nodemailer SMTP
 * transport), else a development folder where each e-mail is written as an .eml file (atomically: tmp then
 * rename, so a reader never sees half a file). A failure propagates to the caller (the API answers 503 and the
 * patient retries); nothing is queued silently.
 */
import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import nodemailer from 'nodemailer';

export interface Notice {
  to: string;
  subject: string;
  text: string;
}

export interface Notifier {
  send(n: Notice): Promise<void>;
  close(): void;
  describe: string;
}

export function createNotifier(opts: { smtpUrl?: string; dir: string; from: string }): Notifier {
  if (opts.smtpUrl) {
    const transport = nodemailer.createTransport(opts.smtpUrl);
    return {
      describe: 'smtp',
      send: async (n) => {
        await transport.sendMail({ from: opts.from, to: n.to, subject: n.subject, text: n.text });
      },
      close: () => transport.close(),
    };
  }
  const transport = nodemailer.createTransport({ streamTransport: true, buffer: true, newline: 'windows' });
  return {
    describe: `files in ${opts.dir}`,
    send: async (n) => {
      const info = await transport.sendMail({ from: opts.from, to: n.to, subject: n.subject, text: n.text });
      await fs.mkdir(opts.dir, { recursive: true, mode: 0o700 });
      const name = `${new Date().toISOString().replace(/[:.]/g, '-')}-${crypto.randomBytes(4).toString('hex')}.eml`;
      const tmp = path.join(opts.dir, `.${name}.tmp`);
      await fs.writeFile(tmp, info.message as Buffer, { mode: 0o600 });
      await fs.rename(tmp, path.join(opts.dir, name));
    },
    close: () => transport.close(),
  };
}

export function loginCodeNotice(to: string, code: string, validityMinutes: number): Notice {
  return {
    to,
    subject: 'Votre code de connexion à Mon espace santé',
    text:
      `Bonjour,\r\n\r\nVotre code de connexion est : ${code}\r\n` +
      `Il est valable ${validityMinutes} minutes et ne peut servir qu'une fois.\r\n\r\n` +
      "Si vous n'êtes pas à l'origine de cette demande, ignorez ce message et changez votre mot de passe.\r\n\r\n" +
      'Mon espace santé — ce message est envoyé automatiquement, merci de ne pas y répondre.\r\n',
  };
}
