import { describe, expect, it } from 'vitest';
import { containerdOrigin } from './origin.js';

describe('containerdOrigin', () => {
  it('the init PID of a running task; nothing without one', () => {
    expect(containerdOrigin(4024)).toEqual({ pid: 4024 });
    expect(containerdOrigin(undefined)).toBeUndefined();
    // A task being created reports pid 0 until its process exists.
    expect(containerdOrigin(0)).toBeUndefined();
  });
});
