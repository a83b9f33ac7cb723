import { Connection } from 'rabbitmq-client';
import { execSync } from 'node:child_process';
const strategy = process.argv[2] ?? 'at-least-once';
const conn = new Connection('amqp://guest:guest@127.0.0.1:5672');
conn.on('error', (e) => console.log('conn error', e.message));
await conn.onConnect(3000);
const p = `exp3-${Date.now()}.`;
await conn.exchangeDeclare({ exchange: p + 'dlx', type: 'topic', durable: true });
await conn.queueDeclare({ queue: p + 'dlq', durable: true, arguments: { 'x-queue-type': 'quorum' } });
const args: Record<string, unknown> = { 'x-queue-type': 'quorum', 'x-dead-letter-exchange': p + 'dlx', 'x-delivery-limit': 0, 'x-dead-letter-strategy': strategy };
if (strategy === 'at-least-once') args['x-overflow'] = 'reject-publish';
await conn.queueDeclare({ queue: p + 'q', durable: true, arguments: args });
const ch = await conn.acquire();
await ch.confirmSelect();
await ch.basicPublish({ routingKey: p + 'q', messageId: 'm1', durable: true }, { hello: 1 });
await ch.basicQos({ prefetchCount: 10 });
let n = 0;
await ch.basicConsume({ queue: p + 'q' }, (msg) => { n++; ch.basicNack({ deliveryTag: msg.deliveryTag, requeue: false }); });
await new Promise((r) => setTimeout(r, 1000));
console.log('delivered', n);
console.log(execSync(`rabbitmqctl list_queues -q name messages messages_ready messages_unacknowledged | grep ${p}`).toString());
await conn.queueBind({ queue: p + 'dlq', exchange: p + 'dlx', routingKey: '#' });
for (let i = 0; i < 40; i++) {
  await new Promise((r) => setTimeout(r, 1000));
  const got = await conn.basicGet({ queue: p + 'dlq', noAck: true });
  if (got) { console.log('arrived after bind', i, got.headers['x-first-death-reason']); break; }
}
console.log(execSync(`rabbitmqctl list_queues -q name messages messages_ready messages_unacknowledged | grep ${p}`).toString());
await ch.close();
for (const q of ['q', 'dlq']) await conn.queueDelete({ queue: p + q });
await conn.exchangeDelete({ exchange: p + 'dlx' });
await conn.close();
