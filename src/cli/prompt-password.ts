/**
 * `-W`: ask for the password on the terminal without echoing it, as libpq's tools do. Without a terminal the
 * first line of standard input is taken, which is what scripts piping a password expect.
 */
import { createInterface } from 'node:readline';

export async function promptPassword(prompt: string, input: NodeJS.ReadStream = process.stdin,
  output: NodeJS.WritableStream = process.stderr): Promise<string> {
  if (input.isTTY !== true) {
    const lines = createInterface({ input, terminal: false });
    for await (const line of lines) {
      lines.close();
      return line;
    }
    return '';
  }
  output.write(prompt);
  input.setRawMode(true);
  input.resume();
  let password = '';
  try {
    for await (const chunk of input as AsyncIterable<Buffer>) {
      for (const char of chunk.toString('utf8')) {
        if (char === '\r' || char === '\n') return password;
        if (char === '\u0003') throw new Error('password prompt interrupted');
        password = char === '\u007f' ? password.slice(0, -1) : password + char;
      }
    }
    return password;
  } finally {
    input.setRawMode(false);
    input.pause();
    output.write('\n');
  }
}
