import type { AddressInfo } from 'node:net'
import { SMTPServer } from 'smtp-server'

// An SMTP server in the test process that keeps every mail it is given (the email digests and
// verification links are read from it), closed when the test ends.

export interface Mail {
  to: string
  subject: string
  text: string
}

/** Quoted-printable or base64 body of a single-part message, as text. */
function decodeBody(raw: string): Mail {
  const [head = '', ...rest] = raw.split('\r\n\r\n')
  const body = rest.join('\r\n\r\n')
  const header = (name: string) =>
    new RegExp(`^${name}: ?(.*(?:\\r\\n[ \\t].*)*)`, 'im').exec(head)?.[1]?.replace(/\r\n[ \t]/g, ' ') ?? ''
  const encoding = header('Content-Transfer-Encoding').toLowerCase()
  const text =
    encoding === 'base64'
      ? Buffer.from(body, 'base64').toString('utf8')
      : encoding === 'quoted-printable'
        ? Buffer.from(
            body
              .replace(/=\r\n/g, '')
              .replace(/=([0-9A-F]{2})/gi, (_, hex) => String.fromCharCode(Number.parseInt(hex, 16))),
            'latin1',
          ).toString('utf8')
        : body
  return { to: header('To'), subject: header('Subject'), text: text.replace(/\r\n/g, '\n') }
}

export async function startSmtp(t: { teardown(fn: () => unknown): void }) {
  const mails: Mail[] = []
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    logger: false,
    onData(stream, _session, callback) {
      const chunks: Buffer[] = []
      stream.on('data', (chunk: Buffer) => chunks.push(chunk))
      stream.on('end', () => {
        mails.push(decodeBody(Buffer.concat(chunks).toString('utf8')))
        callback()
      })
    },
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())))
  const port = (server.server.address() as AddressInfo).port
  return { url: `smtp://127.0.0.1:${port}`, mails }
}
