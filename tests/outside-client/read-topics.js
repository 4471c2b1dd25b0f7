#!/usr/bin/env node
// Reads topics from the beginning with kafkajs (a Kafka client that is not librdkafka, with only its built-in
// codecs: none and gzip) until each has given the number of messages asked for, then prints them as JSON on
// standard output. Exit codes: 0 done, 2 kafkajs failed (for example a codec it lacks), 3 too few messages in time,
// 64 bad arguments. Its log goes to standard error.
//
//   node read-topics.js --brokers 127.0.0.1:40123 --topic inspection-results=12 --topic anomalies=5 [--timeout-ms 60000]
//
// Output: {"messages":[{"topic","partition","offset","key","headers":{"name":["value",...]},"value_base64"}]},
// keys and header values as UTF-8 text (null when absent), values as base64 (null for a null value).
'use strict';

const { Kafka, logLevel } = require('kafkajs');

function parseArguments(argv) {
  const options = { brokers: null, topics: new Map(), timeoutMs: 60000 };
  for (let i = 0; i < argv.length; i++) {
    const [name, value] = [argv[i], argv[i + 1]];
    if (value === undefined) usage(`${name} needs a value`);
    i++;
    if (name === '--brokers') options.brokers = value.split(',');
    else if (name === '--timeout-ms') options.timeoutMs = Number(value);
    else if (name === '--topic') {
      const at = value.lastIndexOf('=');
      const count = Number(value.slice(at + 1));
      if (at <= 0 || !Number.isInteger(count) || count < 0) usage(`--topic ${value} is not name=count`);
      options.topics.set(value.slice(0, at), count);
    } else usage(`unknown option ${name}`);
  }
  if (!options.brokers) usage('--brokers is required');
  if (options.topics.size === 0) usage('give at least one --topic name=count');
  if (!(options.timeoutMs > 0)) usage('--timeout-ms must be a positive number');
  return options;
}

function usage(problem) {
  process.stderr.write(`read-topics: ${problem}\nusage: node read-topics.js --brokers host:port[,host:port] --topic name=count [--topic ...] [--timeout-ms N]\n`);
  process.exit(64);
}

const levelNames = Object.fromEntries(Object.entries(logLevel).map(([name, level]) => [level, name]));
const toStderr = () => ({ level, log }) => {
  process.stderr.write(`kafkajs ${levelNames[level] ?? level}: ${log.message}${log.error ? ` (${log.error})` : ''}\n`);
};

function headersOf(headers) {
  const result = {};
  for (const [name, value] of Object.entries(headers ?? {})) {
    result[name] = (Array.isArray(value) ? value : [value]).map(v => (v == null ? null : v.toString('utf8')));
  }
  return result;
}

async function main() {
  const options = parseArguments(process.argv.slice(2));
  const kafka = new Kafka({ clientId: 'outside-client', brokers: options.brokers, logLevel: logLevel.WARN, logCreator: toStderr });
  const consumer = kafka.consumer({ groupId: `outside-client-${process.pid}-${Date.now()}` });
  const messages = [];
  const readPerTopic = new Map([...options.topics.keys()].map(topic => [topic, 0]));
  const enough = () => [...options.topics].every(([topic, count]) => readPerTopic.get(topic) >= count);

  const outcome = await new Promise(async resolve => {
    const timer = setTimeout(() => resolve({ code: 3, problem: `timed out after ${options.timeoutMs} ms` }), options.timeoutMs);
    const finish = result => { clearTimeout(timer); resolve(result); };
    consumer.on(consumer.events.CRASH, event => finish({ code: 2, problem: `the kafkajs consumer crashed: ${event.payload.error}` }));
    try {
      await consumer.connect();
      await consumer.subscribe({ topics: [...options.topics.keys()], fromBeginning: true });
      if (enough()) return finish({ code: 0 });
      await consumer.run({
        // Decoding happens in kafkajs before this is called: a batch in a codec it lacks never arrives here.
        eachMessage: async ({ topic, partition, message }) => {
          messages.push({
            topic,
            partition,
            offset: Number(message.offset),
            key: message.key == null ? null : message.key.toString('utf8'),
            headers: headersOf(message.headers),
            value_base64: message.value == null ? null : message.value.toString('base64'),
          });
          readPerTopic.set(topic, readPerTopic.get(topic) + 1);
          if (enough()) finish({ code: 0 });
        },
      });
    } catch (error) {
      finish({ code: 2, problem: `kafkajs failed: ${error}` });
    }
  });

  await consumer.disconnect().catch(() => {});
  if (outcome.code !== 0) {
    const counts = [...options.topics].map(([topic, count]) => `${topic} ${readPerTopic.get(topic)} of ${count}`).join(', ');
    process.stderr.write(`read-topics: ${outcome.problem}; read ${counts}\n`);
  }
  // Writes to a pipe are asynchronous: exit only once the whole output is out (process.exit would cut it at 64 KiB).
  process.stdout.write(JSON.stringify({ messages }) + '\n', () => process.exit(outcome.code));
}

main().catch(error => {
  process.stderr.write(`read-topics: ${error.stack ?? error}\n`);
  process.exit(2);
});
