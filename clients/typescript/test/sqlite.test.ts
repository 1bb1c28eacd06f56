import { sqliteDatabase } from "./server.js";
import { clientSuite } from "./suite.js";

clientSuite("SQLite", await sqliteDatabase());
