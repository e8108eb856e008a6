export { createSerialTicker, type SerialTicker } from './serial-ticker.ts';
