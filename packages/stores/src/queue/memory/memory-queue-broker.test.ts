import { runQueueConformance } from '../queue-conformance.ts';
import { createMemoryQueueBroker, createMemoryQueueStore } from './memory-queue-broker.ts';

const store = createMemoryQueueStore();
runQueueConformance('memory', { create: async () => createMemoryQueueBroker({ store }) });
