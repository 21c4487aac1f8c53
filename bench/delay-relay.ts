// A TCP relay that adds a fixed delay to every chunk in each direction: a link with a round
// trip of twice the delay, for the lazy-mount benchmark where the kernel has no netem (tc's
// netem needs the sch_netem module; this machine's kernel has no modules). It runs as a child
// process of its own, so the benchmark's own event loop never stands between the two ends.
// usage: node .bench-dist/delay-relay.js TARGET_PORT DELAY_MS; prints the port it listens on.
import net from 'node:net';

const [target, delay] = process.argv.slice(2).map(Number) as [number, number];

/** Forwards a's bytes to b, each chunk `delay` ms after it arrived, in order. */
function delayed(a: net.Socket, b: net.Socket): void {
  a.on('data', (d) => setTimeout(() => { if (!b.destroyed) b.write(d); }, delay));
  a.on('end', () => setTimeout(() => b.end(), delay));
  a.on('error', () => b.destroy());
}

const server = net.createServer((client) => {
  client.setNoDelay(true);
  const upstream = net.connect(target, '127.0.0.1');
  upstream.setNoDelay(true);
  delayed(client, upstream);
  delayed(upstream, client);
});
server.listen(0, '127.0.0.1', () => process.stdout.write(`${(server.address() as net.AddressInfo).port}\n`));
