import { MemoryFleetStore } from "../../../tools/fleet/memoryStore.ts";
import { fleetStoreContract } from "./storeContract.ts";

fleetStoreContract("MemoryFleetStore", { open: () => new MemoryFleetStore() });
