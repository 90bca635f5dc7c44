/**
 * The runtime's test entry point (`@tide/runtime/testing`): an in-memory ContainerRuntime for tests of
 * code that drives containers, and the contract suite that keeps it as honest as LinuxRuntime
 * (runtime.contract.spec.ts runs it against both).
 */
export { FakeRuntime } from './fake.runtime';
export { FAKE_COMMANDS, FakeCommand, FakeExecSession, FakeProcess, startFakeExec } from './fake.exec';
export { RuntimeUnderTest, runtimeContract } from './runtime.contract';
