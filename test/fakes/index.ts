export * as fakeOpenAI from './fake-openai.ts';
export * as fakeSlack from './fake-slack.ts';
export type { FakeOpenAI, FakeOpenAIOptions, ChatReply, ChatRequest, ChatResponder } from './fake-openai.ts';
export type { FakeSlack, FakeSlackOptions, SlackFailure, SlackPost } from './fake-slack.ts';
export type { FakeServer, RecordedRequest } from './recording-server.ts';
export { start as startFakeOpenAI, fakeEmbedding, echoReply } from './fake-openai.ts';
export { start as startFakeSlack } from './fake-slack.ts';
