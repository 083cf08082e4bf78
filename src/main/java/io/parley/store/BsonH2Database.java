package io.parley.store;

import de.bwaldvogel.mongo.MongoCollection;
import de.bwaldvogel.mongo.backend.CollectionOptions;
import de.bwaldvogel.mongo.backend.CursorRegistry;
import de.bwaldvogel.mongo.backend.Index;
import de.bwaldvogel.mongo.backend.IndexKey;
import de.bwaldvogel.mongo.backend.h2.H2Database;
import java.util.List;
import org.h2.mvstore.MVStore;

/**
 * The H2 backend's database with every map it creates opened with {@link BsonDataType}.
 *
 * <p>{@link H2Database} opens its maps by name with H2's default types; a map already open is
 * returned as it is, so opening it first with the right types is enough. The superclass constructor
 * opens the namespaces collection and the existing collections before {@link #store} is set: those
 * maps are opened by {@link GroupCommitH2Backend} beforehand.
 */
final class BsonH2Database extends H2Database {

  private final MVStore store;

  BsonH2Database(String databaseName, MVStore store, CursorRegistry cursorRegistry) {
    super(databaseName, store, cursorRegistry);
    this.store = store;
  }

  /** The maps the superclass constructor opens for a database: its namespaces collection. */
  static List<String> mapsOpenedOnConstruction(String databaseName) {
    String namespaces = databaseName + "." + "system.namespaces";
    return List.of(StoreFormat.DATA_PREFIX + namespaces, StoreFormat.META_PREFIX + namespaces);
  }

  @Override
  protected MongoCollection<Object> openOrCreateCollection(String collectionName, CollectionOptions options) {
    if (store != null) {
      String fullName = getFullCollectionNamespace(collectionName);
      StoreFormat.openMap(store, StoreFormat.DATA_PREFIX + fullName);
      StoreFormat.openMap(store, StoreFormat.META_PREFIX + fullName);
    }
    return super.openOrCreateCollection(collectionName, options);
  }

  @Override
  protected Index<Object> openOrCreateUniqueIndex(String collectionName, String indexName, List<IndexKey> keys,
      boolean sparse) {
    if (store != null) {
      StoreFormat.openMap(store, getFullCollectionNamespace(collectionName) + "._index_" + indexName);
    }
    return super.openOrCreateUniqueIndex(collectionName, indexName, keys, sparse);
  }
}
