// smtp-server ships no types for its connection class; only `send` is touched (library-replies.ts).
declare module 'smtp-server/lib/smtp-connection.js' {
  export class SMTPConnection {
    send(code: number, data: unknown, context?: unknown): void;
  }
}
