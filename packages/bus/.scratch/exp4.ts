import { Connection } from 'rabbitmq-client';
for (const url of ['amqp://guest:wrongpass@127.0.0.1:5672', 'amqp://guest:guest@127.0.0.1:5672/novhost', 'amqp://guest:guest@127.0.0.1:5999', 'amqp://guest:guest@nonexistent.invalid:5672']) {
  const conn = new Connection({ url, connectionTimeout: 2000 });
  const t = Date.now();
  conn.on('error', (e: any) => console.log(url, 'error event', Date.now() - t, e.code, e.message, e.constructor.name));
  await conn.onConnect(2500).catch((e: any) => console.log('onConnect rejected', e.message, e.cause?.code));
}
