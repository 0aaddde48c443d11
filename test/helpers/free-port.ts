/**
 * A loopback port that was free a moment ago: for a seed that starts later,
 * or an address nothing listens on (a dial to it is refused).
 */
import net from 'node:net';

/** Binds 127.0.0.1 port 0, releases it, and returns the port. */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
