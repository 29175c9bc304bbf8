// A real SMTP server for the e2e tests (the smtp-server package): it keeps
// every message it receives for next().
import { SMTPServer } from 'smtp-server';

const MAIL_WAIT_MS = 15_000; // a safety net, not a timing assertion

/** Starts an SMTP server on 127.0.0.1 that keeps every message for next(). */
export async function startSmtp() {
  const queue = [];
  const waiting = [];
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    logger: false,
    onData(stream, session, callback) {
      let raw = '';
      stream.setEncoding('utf8');
      stream.on('data', (chunk) => { raw += chunk; });
      stream.on('end', () => {
        const msg = { to: session.envelope.rcptTo.map((r) => r.address), raw };
        const w = waiting.shift();
        if (w) w(msg); else queue.push(msg);
        callback();
      });
    },
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  return {
    port: server.server.address().port,
    pending: () => queue.length,
    /** The next message; rejects when none arrives in time. */
    next() {
      if (queue.length) return Promise.resolve(queue.shift());
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('no email arrived')), MAIL_WAIT_MS);
        waiting.push((m) => { clearTimeout(timer); resolve(m); });
      });
    },
    close: () => new Promise((resolve) => server.close(resolve)),
  };
}
