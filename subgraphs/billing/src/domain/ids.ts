export { isUuid } from '@konstruct/core';
